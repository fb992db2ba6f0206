// A plugin backend that reads every push with the official CloudEvents SDK for JavaScript:
// it prints `LISTENING <port>`, then one JSON line per push — the events the SDK found, or
// its error — and answers as a Plexica plugin would (`{"handled": n}` to a batch).
import http from "node:http";
import { HTTP } from "cloudevents";

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    let line;
    let status = 200;
    let answer = "";
    try {
      const parsed = HTTP.toEvent({ headers: request.headers, body });
      const events = Array.isArray(parsed) ? parsed : [parsed];
      for (const event of events) {
        event.validate();
      }
      line = {
        ok: true,
        contentType: request.headers["content-type"] ?? null,
        batch: Array.isArray(parsed),
        events: events.map((e) => ({
          id: e.id,
          type: e.type,
          source: e.source,
          specversion: e.specversion,
          datacontenttype: e.datacontenttype,
          data: e.data,
        })),
      };
      if (Array.isArray(parsed)) {
        answer = JSON.stringify({ handled: events.length });
      }
    } catch (error) {
      status = 400;
      line = {
        ok: false,
        contentType: request.headers["content-type"] ?? null,
        error: String(error?.message ?? error),
      };
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
    response.writeHead(status, { "content-type": "application/json" });
    response.end(answer);
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
