/** Where a sealed value lives: bound into the ciphertext, so it decrypts nowhere else. */
export interface SecretLocation {
  table: string;
  partitionKey: string;
  rowKey: string;
}

/** The part of the envelope cipher the store needs (implemented by crypto's EnvelopeCipher). */
export interface SecretSealer {
  seal(loc: SecretLocation, fields: Record<string, string>): Promise<string>;
  open(loc: SecretLocation, sealed: string): Promise<Record<string, string>>;
}
