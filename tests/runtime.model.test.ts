/**
 * Proof 3 on a real VPS: the model path. LiteLLM created from the render's own
 * container inputs starts with the rendered config.yaml under its declared
 * settings, requires its master key, lists exactly the configured models and
 * forwards a completion to the provider — a stand-in the test runs on the
 * egress side, configured the way a user configures a self-hosted provider
 * (`litellm.models[].apiBase`). The provider sees the request arrive from
 * Squid's egress address with the provider key; Squid's own log shows the
 * tunnel. The gateway reaches LiteLLM only through Squid (`proxy.proxyUrl`):
 * an agent turn driven by the operator CLI ends at the provider, and Squid
 * logged the gateway's request to LiteLLM. The internal network has no other
 * way out. (support/modelPath.ts sets the stage.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inspectContainer, waitHealthy } from "./support/apply";
import { EGRESS, GATEWAY, LITELLM, MODEL, ModelPath, NODE_IMAGE, PROVIDER_HOST, PROVIDER_IP, startModelPath } from "./support/modelPath";
import { declaredHealthSeconds, runtimeSkip } from "./support/runtime";

const skip = runtimeSkip("runtime: model path");
const REPLY = "pong from the stand-in provider";

describe("runtime: model path on a real VPS", { skip, timeout: 900_000 }, () => {
  let mp: ModelPath;
  const t0 = Date.now();
  let litellmIp = "";

  /** A LiteLLM API call from the VPS; the Authorization header travels on stdin, never on a command line. */
  const litellm = async (method: string, path: string, key: string | undefined, body?: unknown) => {
    const header = key === undefined ? "" : `Authorization: Bearer ${key}\n`;
    const data = body === undefined ? "" : `--data '${JSON.stringify(body)}' -H 'Content-Type: application/json'`;
    const r = await mp.rt.host.ssh(`curl -s -w '\\n%{http_code}' --max-time 60 -X ${method} ${data} ${key === undefined ? "" : "-H @-"} http://${litellmIp}:4000${path}`, { input: header });
    const lines = r.stdout.trimEnd().split("\n");
    const code = Number(lines.pop());
    const text = lines.join("\n");
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { code, text, json };
  };

  before(async () => {
    // The socket proxy too: the rendered sandbox mode is "all", so every turn provisions the agent's sandbox first.
    mp = await startModelPath({ standin: { reply: REPLY }, socketProxy: true });
    litellmIp = await mp.ip(LITELLM, "openclaw-net");
    console.log(`runtime model: ${JSON.stringify(mp.timings)}`);
  });
  after(() => {
    if (mp) console.log(`runtime model: teardown ${mp.teardown().toFixed(1)} s; proof wall time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it("LiteLLM runs the rendered config.yaml under its declared settings, and inspect shows no key", async () => {
    const declared = mp.rt.applier.resource("docker:index/container:Container", `${LITELLM}-container`).inputs;
    const info = await inspectContainer(mp.rt.host, LITELLM);
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(info.HostConfig.CapDrop, ["ALL"]);
    assert.deepEqual(info.HostConfig.SecurityOpt, ["no-new-privileges:true"]);
    assert.equal(info.HostConfig.Memory, declared.memory * 1024 * 1024);
    assert.deepEqual(info.Config.Entrypoint, declared.entrypoints);
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ["openclaw-net"], "LiteLLM is on the internal network only");
    const running = await mp.rt.host.sshOk(`docker exec ${LITELLM} cat /etc/litellm/config.yaml`);
    assert.equal(running, mp.rt.render.fileContent("/etc/litellm/config.yaml"));
    assert.match(running, new RegExp(`api_base: ${MODEL.apiBase.replace(/[./]/g, "\\$&")}`));
    // The process runs the rendered config on the declared port.
    assert.match(await mp.rt.host.sshOk(`docker exec ${LITELLM} sh -c 'tr "\\0" " " < /proc/1/cmdline'`), /litellm --config \/etc\/litellm\/config\.yaml --port 4000/);
    const inspected = JSON.stringify(info);
    assert.equal(inspected.includes(mp.masterKey), false, "the master key is not in the container's config");
    assert.equal(inspected.includes(mp.providerKey), false, "the provider key is not in the container's config");
  });

  /** Completions the provider received (LiteLLM also lists the provider's models when it starts). */
  const completions = async () => (await mp.providerRequests()).filter((q) => q.method === "POST");

  it("the egress proxy and LiteLLM turn healthy by their own Docker healthchecks", { timeout: 400_000 }, async () => {
    // LiteLLM's was waited for at setup; Squid's declared allowance is 15 + 3 x 30 s, doubled under load.
    assert.equal((await inspectContainer(mp.rt.host, LITELLM)).State.Health.Status, "healthy");
    console.log(`runtime model: egress proxy healthy after a further ${(await waitHealthy(mp.rt.host, EGRESS, 2 * declaredHealthSeconds(mp.rt.applier, `${EGRESS}-container`))).toFixed(1)} s`);
  });

  it("requires its master key: without it, or with a wrong one, nothing is listed or forwarded", async () => {
    // LiteLLM 1.108.5 without a database (as rendered) does not answer 401 here (seen on the VPS): a key that is
    // not the master key is looked up as a virtual key and refused with 400 "No connected db."; no Authorization
    // header at all gets a bare 500 "Internal Server Error". Refused either way, which is what is asserted.
    const wrong = `${mp.masterKey.slice(0, -4)}beef`;
    for (const [method, path, body] of [["GET", "/v1/models", undefined], ["POST", "/v1/chat/completions", { model: MODEL.name, messages: [{ role: "user", content: "hi" }] }]] as const) {
      const r = await litellm(method, path, wrong, body);
      assert.ok(r.code === 401 || (r.code === 400 && r.json?.error?.type === "no_db_connection"), `a wrong key: ${r.code} ${r.text}`);
      assert.doesNotMatch(r.text, new RegExp(MODEL.name));
      const none = await litellm(method, path, undefined, body);
      assert.ok(none.code === 401 || none.code === 500, `no key: ${none.code} ${none.text}`);
      assert.doesNotMatch(none.text, new RegExp(MODEL.name));
    }
    assert.deepEqual(await completions(), [], "no completion reached the provider");
  });

  it("lists exactly the configured models", async () => {
    const r = await litellm("GET", "/v1/models", mp.masterKey);
    assert.equal(r.code, 200, r.text);
    assert.deepEqual(r.json.data.map((m: { id: string }) => m.id), [MODEL.name]);
  });

  it("forwards a completion to the provider through the egress proxy, with the provider key", async () => {
    const r = await litellm("POST", "/v1/chat/completions", mp.masterKey, { model: MODEL.name, messages: [{ role: "user", content: "direct ping" }] });
    assert.equal(r.code, 200, r.text);
    assert.equal(r.json.choices[0].message.content, REPLY);
    const requests = await completions();
    assert.equal(requests.length, 1, JSON.stringify(requests));
    const seen = requests[0]!;
    assert.equal(seen.path, "/v1/chat/completions");
    assert.equal(seen.body.model, MODEL.model);
    assert.equal(seen.authorization, `Bearer ${mp.providerKey}`, "LiteLLM sends the provider key it holds");
    assert.equal(seen.peer.replace(/^::ffff:/, ""), await mp.ip(EGRESS, "egress-net"), "the provider saw the egress proxy, not LiteLLM");
    const tunnels = (await mp.squidLog()).filter((l) => l.includes(`CONNECT ${PROVIDER_HOST}:443`));
    assert.equal(tunnels.length, 1, (await mp.squidLog()).join("\n"));
    assert.match(tunnels[0]!, new RegExp(`\\s${litellmIp.replace(/\./g, "\\.")}\\s+TCP_TUNNEL/200\\s`));
  });

  it("the gateway reaches LiteLLM through the egress proxy: an operator's agent turn ends at the provider", { timeout: 400_000 }, async () => {
    const before = (await completions()).length;
    const turn = await mp.agentTurn("ping through the model path", 300);
    assert.equal(turn.status, 0, `${turn.stdout}\n${turn.stderr}`);
    console.log(`runtime model: agent turn ${turn.seconds.toFixed(1)} s`);
    assert.match(turn.stdout, new RegExp(REPLY), turn.stdout);
    const requests = (await completions()).slice(before);
    assert.ok(requests.some((q) => JSON.stringify(q.body.messages).includes("ping through the model path")), "the provider received the operator's message");
    for (const q of requests) assert.equal(q.authorization, `Bearer ${mp.providerKey}`);
    const gatewayIp = await mp.ip(GATEWAY, "openclaw-net");
    // OpenClaw's proxy client tunnels its http:// calls to LiteLLM (CONNECT), from the gateway's own address.
    const viaSquid = (await mp.squidLog()).filter((l) => l.includes(` ${gatewayIp} `) && l.includes(`CONNECT ${LITELLM}:4000 `));
    assert.ok(viaSquid.some((l) => /TCP_TUNNEL\/200 /.test(l)), (await mp.squidLog()).join("\n"));
  });

  it("leaves the internal network no other way out: no route to the provider, none to the runner", async () => {
    for (const [host, port] of [[PROVIDER_IP, "443"], [mp.rt.cluster.runnerAddress, "22"]] as const) {
      const r = JSON.parse(await mp.rt.host.sshOk(`docker run --rm --network openclaw-net -v /opt/standins:/opt/standins:ro ${NODE_IMAGE} node /opt/standins/standins.js direct ${host} ${port}`));
      assert.equal(r.connected, false, `${host}:${port} reachable from the internal network: ${JSON.stringify(r)}`);
    }
    // And LiteLLM itself, on that network, cannot reach the provider but through Squid.
    const direct = await mp.rt.host.ssh(`docker exec ${LITELLM} python3 -c "import socket; socket.create_connection(('${PROVIDER_IP}', 443), timeout=3)"`);
    assert.notEqual(direct.status, 0, "LiteLLM connected to the provider directly");
  });
});
