// Tests for HTTPServer land here.
