// Conformance: the official @huggingface/hub client against a devhub that
// behaves as the Hub does in 2026: storage on another origin (signed,
// expiring URLs), small files answered with a relative redirect to
// /api/resolve-cache, renamed repos redirecting from their old name, and
// binary files over 1 MiB refused as plain git files. The token must reach
// storage 0 times: fetch drops Authorization on a cross-origin redirect and
// keeps it on the Hub's own origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRepo, downloadFile, modelInfo, uploadFiles } from "@huggingface/hub";
import { bytes, MiB, sha256, startDevhub } from "./harness.js";

const accessToken = "hf_conformance2026_write";

let hub;
let hubUrl;
let storageUrl;

before(async () => {
	let storageFound;
	const storage = new Promise((resolve) => { storageFound = resolve; });
	const onStderr = (l) => {
		const m = /^devhub: storage served from (http:\/\/\S+)$/.exec(l);
		if (m) storageFound(m[1]);
	};
	({ child: hub, url: hubUrl } = await startDevhub([
		"--token", `${accessToken}=write:alice/*`,
		"--storage-addr", "127.0.0.1:0",
		"--resolve-cache",
		"--multipart-threshold", String(8 * MiB),
		"--chunk-size", String(5 * MiB),
	], { onStderr }));
	storageUrl = await storage;
	assert.notEqual(new URL(storageUrl).origin, new URL(hubUrl).origin);
});

after(() => {
	hub?.kill("SIGTERM");
});

const opts = () => ({ hubUrl, accessToken });
const stats = async () => (await fetch(`${hubUrl}/_devhub/stats`)).json();


const repo = { type: "model", name: "alice/conformance-2026" };
const small = new TextEncoder().encode("hello from a private repo\n");
const binary = bytes(1 * MiB + 4096, 7); // binary and over 1 MiB: LFS by preupload's sample
const weights = bytes(12 * MiB + 7, 42); // multipart

test("a private repo round-trips with storage on another origin, without the token reaching it", async () => {
	await createRepo({ repo, private: true, ...opts() });
	await uploadFiles({
		repo,
		...opts(),
		useXet: false,
		files: [
			{ path: "small.txt", content: new Blob([small]) },
			{ path: "vocab.bin", content: new Blob([binary]) },
			{ path: "model.safetensors", content: new Blob([weights]) },
		],
	});
	for (const [p, b] of [["small.txt", small], ["vocab.bin", binary], ["model.safetensors", weights]]) {
		const blob = await downloadFile({ repo, path: p, ...opts(), xet: false });
		assert.ok(blob, `${p} downloaded`);
		assert.equal(sha256(new Uint8Array(await blob.arrayBuffer())), sha256(b), `${p} whole`);
		const a = Math.floor(b.length / 3), z = Math.floor((2 * b.length) / 3) + 1;
		const part = new Uint8Array(await blob.slice(a, z).arrayBuffer());
		assert.equal(sha256(part), sha256(b.subarray(a, z)), `${p} slice`);
	}
	const s = await stats();
	assert.ok((s.requests["resolve-cache"] ?? 0) > 0, "small.txt went through the resolve-cache redirect");
	assert.ok((s.requests.blob ?? 0) > 0 && (s.requests["storage-part"] ?? 0) === 3, "storage served the LFS files");
	assert.equal(s.storageAuthorization, 0, "storage saw the token");
	assert.ok(s.storageBytes[repo.name] >= weights.length, "storage bytes counted for the repo");
	// Without the token, the relative redirect's target hides the repo too.
	await assert.rejects(downloadFile({ repo, path: "small.txt", hubUrl, xet: false }));
});

test("a renamed repo answers under its old name (redirect on the Hub's host)", async () => {
	const res = await fetch(`${hubUrl}/api/repos/move`, {
		method: "POST",
		headers: { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json" },
		body: JSON.stringify({ fromRepo: repo.name, toRepo: "alice/conformance-2026-renamed", type: "model" }),
	});
	assert.equal(res.status, 200);
	const info = await modelInfo({ name: repo.name, ...opts() });
	assert.equal(info.name, "alice/conformance-2026-renamed");
	assert.equal(info.private, true);
	const blob = await downloadFile({ repo, path: "small.txt", ...opts(), xet: false });
	assert.equal(sha256(new Uint8Array(await blob.arrayBuffer())), sha256(small));
	const s = await stats();
	assert.ok((s.requests["moved-redirect"] ?? 0) >= 2);
	assert.equal(s.storageAuthorization, 0);
});

test("a binary file over 1 MiB committed as a plain file is refused with the Hub's text", async () => {
	const line = (key, value) => JSON.stringify({ key, value });
	const body = [
		line("header", { summary: "binary as a plain file" }),
		line("file", { path: "raw.bin", content: Buffer.from(binary).toString("base64"), encoding: "base64" }),
	].join("\n");
	const res = await fetch(`${hubUrl}/api/models/alice/conformance-2026-renamed/commit/main`, {
		method: "POST",
		headers: { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/x-ndjson" },
		body,
	});
	assert.equal(res.status, 400);
	assert.match((await res.json()).error, /Your push was rejected because it contains binary files/);
});
