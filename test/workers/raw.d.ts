/** Vite's `?raw` imports (file contents as a string), used to bring corpus files into workerd. */
declare module '*?raw' {
  const text: string;
  export default text;
}
