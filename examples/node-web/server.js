// A small web app on node's stdlib http module.
const http = require("http");
const port = Number(process.env.PORT || 3000);
let hits = 0;
http
  .createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      return res.end("ok\n");
    }
    hits++;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ hello: "from wrenn", hits }) + "\n");
  })
  .listen(port, "0.0.0.0");
