// esbuild bundles imported CSS into main.css next to main.js.
declare module '*.css';
