// @ts-check
/**
 * Stand-ins the runtime suites run inside a test VPS (on the Node of the
 * socket-proxy stand-in image), so nothing ever leaves the machine:
 *
 *   node standins.js tcp LABEL PORT...     TCP servers: log "hit LABEL <port> <peer>" per connection, greet "LABEL\n"
 *   node standins.js dns '{"name":"ip"}' [ADDRESS]   DNS server on ADDRESS:53/udp (default all) answering A records
 *                                          from the map, NXDOMAIN otherwise; bind one address where the host has several,
 *                                          or replies leave from whichever address the route picks and are dropped
 *   node standins.js connect PROXY HOST:PORT   CONNECT through an HTTP proxy; prints {"status":..,"greeting":..}
 *   node standins.js direct HOST PORT      plain TCP; prints {"connected":true|false,"error":..}
 */
"use strict";
const net = require("node:net");
const dgram = require("node:dgram");

const [mode, ...args] = process.argv.slice(2);

function print(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

if (mode === "tcp") {
  const [label, ...ports] = args;
  for (const port of ports) {
    net.createServer((socket) => {
      console.log(`hit ${label} ${port} ${socket.remoteAddress}`);
      socket.end(`${label}\n`);
    }).listen(Number(port), "0.0.0.0");
  }
} else if (mode === "dns") {
  /** @type {Record<string, string>} */
  const records = JSON.parse(args[0] ?? "{}");
  const server = dgram.createSocket("udp4");
  server.on("message", (query, peer) => {
    let offset = 12;
    const labels = [];
    while (query[offset] !== 0 && offset < query.length) {
      const length = query[offset];
      labels.push(query.subarray(offset + 1, offset + 1 + length).toString("ascii"));
      offset += length + 1;
    }
    const question = query.subarray(12, offset + 5);
    const qtype = query.readUInt16BE(offset + 1);
    const name = labels.join(".").toLowerCase();
    const ip = records[name];
    const answer = ip && qtype === 1;
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8180 | (ip ? 0 : 3), 2); // response, recursion available; NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answer ? 1 : 0, 6);
    const parts = [header, question];
    if (answer) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(5, 6);
      rr.writeUInt16BE(4, 10);
      ip.split(".").forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
      parts.push(rr);
    }
    console.log(`query ${name} ${qtype} -> ${answer ? ip : "none"}`);
    server.send(Buffer.concat(parts), peer.port, peer.address);
  });
  server.bind(53, args[1] ?? "0.0.0.0");
} else if (mode === "connect") {
  const [proxy, target] = args;
  const [proxyHost, proxyPort] = (proxy ?? "").split(":");
  const socket = net.connect(Number(proxyPort), proxyHost, () => {
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
  let data = "";
  const finish = () => {
    const [head = "", ...rest] = data.split("\r\n\r\n");
    print({ status: Number(head.split(" ")[1] ?? 0), greeting: rest.join("\r\n\r\n").trim() });
    process.exit(0);
  };
  socket.setTimeout(5000, finish);
  socket.on("data", (chunk) => {
    data += chunk.toString("utf8");
    const head = data.split("\r\n")[0] ?? "";
    if (data.includes("\r\n\r\n") && !/^HTTP\/1\.\d 200/.test(head)) finish();
  });
  socket.on("end", finish);
  socket.on("error", (err) => {
    print({ status: 0, error: err.message });
    process.exit(0);
  });
} else if (mode === "direct") {
  const [host, port] = args;
  const socket = net.connect({ host, port: Number(port), timeout: 3000 }, () => {
    print({ connected: true });
    process.exit(0);
  });
  socket.on("timeout", () => {
    print({ connected: false, error: "timeout" });
    process.exit(0);
  });
  socket.on("error", (err) => {
    print({ connected: false, error: err.message });
    process.exit(0);
  });
} else {
  console.error("usage: standins.js tcp|dns|connect|direct ...");
  process.exit(2);
}
