// Tests for Configuration land here.
