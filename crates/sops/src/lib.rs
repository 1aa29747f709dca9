//! SOPS files with age: the format, .sops.yaml rules, encryption and decryption; usable on its own.
