// Tests for Storage land here.
