// Test oracle: decrypts a SOPS file with the independent npm `sops-age`
// decryptor and prints its values as JSON (it does not check the MAC; a Rust
// test recomputes that). Usage: node sops-age-decrypt.mjs FILE AGE_KEY_FILE
import { readFileSync } from "node:fs";
import { decryptSops } from "sops-age";

const [file, keyFile] = process.argv.slice(2);
const secretKey = readFileSync(keyFile, "utf8")
  .split("\n")
  .find((line) => line.startsWith("AGE-SECRET-KEY-"));
const values = await decryptSops({ path: file, secretKey });
console.log(JSON.stringify(values));
