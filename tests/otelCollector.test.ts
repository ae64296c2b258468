/**
 * The OpenTelemetry collector's rendered config and the endpoint rule the
 * config model and the renderer share. The stack-level properties (pinned,
 * internal network only, allowlist, OpenClaw's diagnostics.otel) are in
 * tests/swarmStack.test.ts, which also runs the real collector's `validate`
 * on the rendered config: scripts/build-otelcol.sh builds it at the pinned
 * release with the OpenTelemetry Collector Builder (the published image cannot
 * be pulled here).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { renderOtelCollectorConfig } from "../components/otelCollector";
import { otlpEndpointProblem } from "../infra/config/schema";
import { DEFAULT_IMAGES } from "../infra/versions";
import { missingTools, OTELCOL_BINARY, OTELCOL_VERSION, PROJECT_ROOT, run } from "./support/tools";

describe("OtelCollector", () => {
  test("OTLP/HTTP in on 4318; every signal memory-limited, batched, exported over OTLP/HTTP through the proxy", () => {
    const text = renderOtelCollectorConfig({ exporterEndpoint: "https://otlp.example.net/v1", egressProxyUrl: "http://openclaw-egress:3128" });
    assert.doesNotMatch(text, /[&*]a\d/, "no YAML anchors: one explicit pipeline per signal");
    const c = parse(text);
    assert.deepEqual(Object.keys(c.receivers.otlp.protocols), ["http"], "no gRPC receiver");
    assert.equal(c.receivers.otlp.protocols.http.endpoint, "0.0.0.0:4318");
    assert.deepEqual(c.exporters, { otlphttp: { endpoint: "https://otlp.example.net/v1", proxy_url: "http://openclaw-egress:3128" } });
    for (const signal of ["traces", "metrics", "logs"]) {
      assert.deepEqual(c.service.pipelines[signal], { receivers: ["otlp"], processors: ["memory_limiter", "batch"], exporters: ["otlphttp"] }, signal);
    }
    assert.equal(c.service.telemetry.metrics.level, "none");
  });

  test("endpoints the egress proxy cannot carry are refused, with the reason", () => {
    const cases: [string, RegExp | undefined][] = [
      ["https://otlp.example.net", undefined],
      ["https://otlp.example.net:443/otlp", undefined],
      ["http://otlp.example.net", /https/],
      ["https://otlp.example.net:4318", /port 443/],
      ["https://203.0.113.9", /DNS name/],
      ["https://[2001:db8::1]/", /DNS name/],
      ["https://localhost/", /DNS name/],
      ["https://user:pw@otlp.example.net", /credentials/],
      ["https://otlp.example.net/?token=x", /query/],
      ["otlp.example.net", /https URL/],
    ];
    for (const [endpoint, problem] of cases) {
      const found = otlpEndpointProblem(endpoint);
      if (problem === undefined) assert.equal(found, undefined, endpoint);
      else assert.match(found ?? "", problem, endpoint);
    }
    assert.throws(() => renderOtelCollectorConfig({ exporterEndpoint: "http://otlp.example.net", egressProxyUrl: "http://e:3128" }), /https/);
  });

  test("the collector the tests run is the one scripts/build-otelcol.sh builds, at the pinned image's release", { skip: missingTools("scripts/build-otelcol.sh --path", ["jq"]) }, () => {
    assert.equal(DEFAULT_IMAGES.otelCollector, `otel/opentelemetry-collector-contrib:${OTELCOL_VERSION}`);
    const printed = run("bash", ["scripts/build-otelcol.sh", "--path"], { cwd: PROJECT_ROOT });
    assert.equal(printed.status, 0, printed.stderr);
    assert.equal(printed.stdout.trim(), OTELCOL_BINARY);
    assert.match(OTELCOL_BINARY, new RegExp(`/otelcol-${OTELCOL_VERSION.replace(/\./g, "\\.")}/otelcol-contrib$`));
  });
});
