// Tests for HTTPCore land here.
