// Conformance: the official @huggingface/hub client, unchanged, against
// `skulk-weights devhub`. Every byte that goes up must come back equal.
//
// SKULK_WEIGHTS_BIN names a built binary; without it the test uses `go run`
// from the repository root.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
	checkRepoAccess,
	commit,
	createCollection,
	createRepo,
	deleteFiles,
	downloadFile,
	fileDownloadInfo,
	fileExists,
	HubApiError,
	listCollections,
	listFiles,
	modelInfo,
	pathsInfo,
	repoExists,
	uploadFiles,
} from "@huggingface/hub";
import { bytes, MiB, sha256, startDevhub } from "./harness.js";

const accessToken = "hf_conformance_write";
const outsiderToken = "hf_conformance_outsider"; // reads bob/* only
const acceptedToken = "hf_conformance_accepted"; // accepted the terms of alice/*'s gated repos
const repo = { type: "model", name: "alice/conformance" };

let hub; // the devhub child process
let hubUrl;

before(async () => {
	({ child: hub, url: hubUrl } = await startDevhub([
		"--token", `${accessToken}=write:alice/*`,
		"--token", `${outsiderToken}=read:bob/*`,
		"--token", `${acceptedToken}=gated:alice/*`,
		"--page-size", "3",
		"--lfs-threshold", String(1 * MiB),
		"--multipart-threshold", String(8 * MiB),
		"--chunk-size", String(5 * MiB),
	]));
});

after(() => {
	hub?.kill("SIGTERM");
});

const opts = () => ({ hubUrl, accessToken });

const gitSha1 = (b) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const stats = async () => (await fetch(`${hubUrl}/_devhub/stats`)).json();

const readme = new TextEncoder().encode("---\nlicense: apache-2.0\ntags:\n- vision\n---\n# Conformance\n");
const small = new TextEncoder().encode("hello, hub!\n");
const bigText = new TextEncoder().encode("a line of text that repeats\n".repeat(Math.ceil((MiB + 123) / 28)));
const weights = bytes(12 * MiB + 7, 42); // multipart: 3 parts of <= 5 MiB
const docs = [1, 2, 3, 4].map((i) => new TextEncoder().encode(`doc ${i}\n`));

const files = {
	"README.md": readme,
	"small.txt": small,
	"big.txt": bigText,
	"model.safetensors": weights,
	...Object.fromEntries(docs.map((d, i) => [`docs/doc${i + 1}.md`, d])),
};

let firstCommit;

test("createRepo, then 409 on a second create", async () => {
	const res = await createRepo({ repo, ...opts() });
	assert.equal(res.repoUrl, `${hubUrl}/alice/conformance`);
	await assert.rejects(createRepo({ repo, ...opts() }), (e) => e instanceof HubApiError && e.statusCode === 409);
});

test("uploadFiles: regular, LFS by size, multipart LFS (useXet: false)", async () => {
	const before = await stats();
	const res = await uploadFiles({
		repo,
		...opts(),
		useXet: false,
		files: Object.entries(files).map(([p, b]) => ({ path: p, content: new Blob([b]) })),
	});
	assert.match(res.commit.oid, /^[0-9a-f]{40}$/);
	firstCommit = res.commit.oid;
	const after = await stats();
	const delta = (k) => (after.requests[k] ?? 0) - (before.requests[k] ?? 0);
	assert.equal(delta("storage-put"), 1, "one basic PUT (big.txt)");
	assert.equal(delta("storage-part"), 3, "three part PUTs (model.safetensors)");
	assert.equal(delta("storage-complete"), 1);
	assert.equal(delta("commit"), 1);
});

test("listFiles follows Link pagination across several pages", async () => {
	const before = await stats();
	const entries = [];
	for await (const e of listFiles({ repo, recursive: true, ...opts() })) entries.push(e);
	const after = await stats();
	assert.ok(after.requests.tree - (before.requests.tree ?? 0) >= 3, "at least three pages");
	const byPath = Object.fromEntries(entries.map((e) => [e.path, e]));
	assert.equal(byPath["docs"].type, "directory");
	for (const [p, b] of Object.entries(files)) {
		const e = byPath[p];
		assert.ok(e, `${p} listed`);
		assert.equal(e.size, b.length, `${p} size`);
		if (p === "big.txt" || p === "model.safetensors") {
			assert.equal(e.lfs.oid, sha256(b), `${p} lfs oid`);
			const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(b)}\nsize ${b.length}\n`;
			assert.equal(e.oid, gitSha1(new TextEncoder().encode(pointer)), `${p} pointer oid`);
		} else {
			assert.equal(e.lfs, undefined, `${p} is regular`);
			assert.equal(e.oid, gitSha1(b), `${p} blob oid`);
		}
	}
});

test("downloadFile whole and sliced, byte for byte", async () => {
	for (const [p, b] of Object.entries(files)) {
		const blob = await downloadFile({ repo, path: p, ...opts(), xet: false });
		assert.ok(blob, `${p} downloaded`);
		const whole = new Uint8Array(await blob.arrayBuffer());
		assert.equal(sha256(whole), sha256(b), `${p} whole`);
		const a = Math.floor(b.length / 3), z = Math.floor((2 * b.length) / 3) + 1;
		const part = new Uint8Array(await blob.slice(a, z).arrayBuffer());
		assert.deepEqual(Buffer.from(part), Buffer.from(b.subarray(a, z)), `${p} slice`);
	}
	assert.equal(await downloadFile({ repo, path: "missing.txt", ...opts() }), null);
});

test("fileDownloadInfo, fileExists and pathsInfo", async () => {
	const info = await fileDownloadInfo({ repo, path: "model.safetensors", ...opts() });
	assert.equal(info.size, weights.length);
	assert.equal(info.etag.replaceAll('"', ""), sha256(weights));
	const reg = await fileDownloadInfo({ repo, path: "small.txt", ...opts() });
	assert.equal(reg.size, small.length);
	assert.equal(reg.etag.replaceAll('"', ""), gitSha1(small));
	assert.equal(await fileExists({ repo, path: "small.txt", ...opts() }), true);
	assert.equal(await fileExists({ repo, path: "nope.txt", ...opts() }), false);
	const pi = await pathsInfo({ repo, paths: ["big.txt", "nope.txt"], ...opts() });
	assert.equal(pi.length, 1);
	assert.equal(pi[0].lfs.oid, sha256(bigText));
});

test("modelInfo exposes sha, cardData and license tag", async () => {
	const info = await modelInfo({ name: repo.name, additionalFields: ["sha", "cardData", "tags", "siblings"], ...opts() });
	assert.equal(info.name, repo.name);
	assert.equal(info.private, false);
	assert.equal(info.sha, firstCommit);
	assert.equal(info.cardData.license, "apache-2.0");
	assert.ok(info.tags.includes("license:apache-2.0"));
	assert.ok(info.siblings.some((s) => s.rfilename === "model.safetensors"));
});

test("re-upload of identical LFS bytes sends no storage PUT", async () => {
	const before = await stats();
	await uploadFiles({ repo, ...opts(), useXet: false, files: [{ path: "copy.safetensors", content: new Blob([weights]) }] });
	const after = await stats();
	assert.equal((after.requests["storage-part"] ?? 0) - (before.requests["storage-part"] ?? 0), 0);
	assert.equal((after.requests["storage-put"] ?? 0) - (before.requests["storage-put"] ?? 0), 0);
	const blob = await downloadFile({ repo, path: "copy.safetensors", ...opts(), xet: false });
	assert.equal(sha256(new Uint8Array(await blob.arrayBuffer())), sha256(weights));
});

test("deleteFiles removes files", async () => {
	await deleteFiles({ repo, paths: ["docs/doc1.md", "docs/doc2.md"], ...opts() });
	assert.equal(await fileExists({ repo, path: "docs/doc1.md", ...opts() }), false);
	assert.equal(await fileExists({ repo, path: "docs/doc3.md", ...opts() }), true);
});

test("a commit with a stale parentCommit is refused with 412", async () => {
	await assert.rejects(
		commit({
			repo,
			...opts(),
			useXet: false,
			title: "stale",
			parentCommit: firstCommit,
			operations: [{ operation: "addOrUpdate", path: "stale.txt", content: new Blob(["x"]) }],
		}),
		(e) => e instanceof HubApiError && e.statusCode === 412 && /branch was updated/.test(e.message),
	);
	assert.equal(await fileExists({ repo, path: "stale.txt", ...opts() }), false);
});

test("createCollection and listCollections", async () => {
	const { slug } = await createCollection({ collection: { title: "Vision sidecars", namespace: "alice" }, ...opts() });
	assert.match(slug, /^alice\/vision-sidecars-[0-9a-f]{24}$/);
	for (const t of ["Second", "Third", "Fourth"]) {
		await createCollection({ collection: { title: t, namespace: "alice" }, ...opts() });
	}
	await assert.rejects(
		createCollection({ collection: { title: "Vision sidecars", namespace: "alice" }, ...opts() }),
		(e) => e instanceof HubApiError && e.statusCode === 409,
	);
	const res = await fetch(`${hubUrl}/api/collections/${slug}/items`, {
		method: "POST",
		headers: { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json" },
		body: JSON.stringify({ item: { type: "model", id: repo.name } }),
	});
	assert.equal(res.status, 200);
	const listed = [];
	for await (const c of listCollections({ search: { owner: ["alice"] }, ...opts() })) listed.push(c);
	assert.equal(listed.length, 4, "all pages followed (page size 3)");
	const mine = listed.find((c) => c.slug === slug);
	assert.equal(mine.title, "Vision sidecars");
	assert.deepEqual(mine.items.map((i) => i.id), [repo.name]);
});

// Access: the JS client sends `visibility` on create (create-repo.ts) and
// reads `private` and `gated` from model info (model-info.ts).
const privRepo = { type: "model", name: "alice/conformance-private" };
const gatedRepo = { type: "model", name: "alice/conformance-gated" };

test("createRepo private: hidden from anonymous callers (401, no error code) and outsiders (404)", async () => {
	await createRepo({ repo: privRepo, private: true, ...opts() });
	const info = await modelInfo({ name: privRepo.name, ...opts() });
	assert.equal(info.private, true);
	assert.equal(info.gated, false);
	assert.equal(await repoExists({ repo: privRepo, hubUrl, accessToken }), true);
	assert.equal(await repoExists({ repo: privRepo, hubUrl }), false);
	await assert.rejects(checkRepoAccess({ repo: privRepo, hubUrl }), (e) => e instanceof HubApiError && e.statusCode === 401);
	await assert.rejects(
		modelInfo({ name: privRepo.name, hubUrl, accessToken: outsiderToken }),
		(e) => e instanceof HubApiError && e.statusCode === 404,
	);
	// As the Hub: anonymous gets 401 without X-Error-Code for private and
	// missing repos alike; a token gets 404 RepoNotFound.
	for (const name of [privRepo.name, "alice/does-not-exist"]) {
		const anon = await fetch(`${hubUrl}/api/models/${name}`);
		assert.equal(anon.status, 401);
		assert.equal(anon.headers.get("X-Error-Code"), null);
		const outsider = await fetch(`${hubUrl}/api/models/${name}`, { headers: { Authorization: `Bearer ${outsiderToken}` } });
		assert.equal(outsider.status, 404);
		assert.equal(outsider.headers.get("X-Error-Code"), "RepoNotFound");
	}
});

test("gated repo: settings set by PUT, gate public in model info, files only for granted tokens", async () => {
	await createRepo({ repo: gatedRepo, ...opts() });
	await uploadFiles({ repo: gatedRepo, ...opts(), useXet: false, files: [{ path: "small.txt", content: new Blob([small]) }] });
	// huggingface_hub's update_repo_settings body; @huggingface/hub has no call for it.
	const put = await fetch(`${hubUrl}/api/models/${gatedRepo.name}/settings`, {
		method: "PUT",
		headers: { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json" },
		body: JSON.stringify({ gated: "manual" }),
	});
	assert.equal(put.status, 200);
	const anonInfo = await modelInfo({ name: gatedRepo.name, hubUrl });
	assert.equal(anonInfo.gated, "manual");
	assert.equal(anonInfo.private, false);
	await assert.rejects(
		downloadFile({ repo: gatedRepo, path: "small.txt", hubUrl, xet: false }),
		(e) => e instanceof HubApiError && e.statusCode === 401,
	);
	await assert.rejects(
		downloadFile({ repo: gatedRepo, path: "small.txt", hubUrl, accessToken: outsiderToken, xet: false }),
		(e) => e instanceof HubApiError && e.statusCode === 403,
	);
	const blob = await downloadFile({ repo: gatedRepo, path: "small.txt", hubUrl, accessToken: acceptedToken, xet: false });
	assert.equal(sha256(new Uint8Array(await blob.arrayBuffer())), sha256(small));
	// A token that passed the gate still cannot change the settings.
	const denied = await fetch(`${hubUrl}/api/models/${gatedRepo.name}/settings`, {
		method: "PUT",
		headers: { Authorization: `Bearer ${acceptedToken}`, "Content-Type": "application/json" },
		body: JSON.stringify({ gated: false }),
	});
	assert.equal(denied.status, 403);
	assert.equal((await modelInfo({ name: gatedRepo.name, hubUrl })).gated, "manual");
});
