/** The compiler version written into every generated header; bump it with package.json. */
export const VERSION = "0.1.0";
