// Tests for CryptoCore land here.
