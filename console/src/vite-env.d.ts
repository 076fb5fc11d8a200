// Vite's own module types (CSS side-effect imports).
/// <reference types="vite/client" />
