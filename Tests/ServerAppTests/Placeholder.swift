// Tests for ServerApp land here.
