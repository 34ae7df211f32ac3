// The harness both conformance suites share: `skulk-weights devhub` started
// as a child process, and the bytes the tests upload and compare.
//
// SKULK_WEIGHTS_BIN names a built binary; without it devhub runs with
// `go run` from the repository root.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const MiB = 1024 * 1024;

/**
 * Starts `skulk-weights devhub` with args and waits for its first line.
 * onStderr, when given, receives each line devhub writes to stderr (which
 * otherwise goes to the test's stderr). Resolves to the child process and
 * the URL it listens on.
 */
export async function startDevhub(args, { onStderr } = {}) {
	const bin = process.env.SKULK_WEIGHTS_BIN;
	const stdio = ["ignore", "pipe", onStderr ? "pipe" : "inherit"];
	const child = bin
		? spawn(bin, ["devhub", ...args], { stdio })
		: spawn("go", ["run", ".", "devhub", ...args], { cwd: root, stdio });
	if (onStderr) {
		createInterface({ input: child.stderr }).on("line", onStderr);
	}
	const lines = createInterface({ input: child.stdout });
	const first = await new Promise((resolve, reject) => {
		child.once("exit", (code) => reject(new Error(`devhub exited with ${code} before listening`)));
		lines.once("line", resolve);
	});
	const m = /^devhub listening on (http:\/\/\S+)$/.exec(first);
	assert.ok(m, `unexpected first line: ${first}`);
	return { child, url: m[1] };
}

/** Deterministic pseudo-random bytes. */
export function bytes(n, seed) {
	const out = new Uint8Array(n);
	let x = seed >>> 0 || 1;
	for (let i = 0; i < n; i++) {
		x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
		out[i] = x & 0xff;
	}
	return out;
}

export const sha256 = (b) => createHash("sha256").update(b).digest("hex");
