"""A key store (加密机, HSM) reached through PKCS#11."""
