// Checks hf-test-server with the official HuggingFace JavaScript client (@huggingface/hub):
// if the official client can list, probe and download from it, the server speaks the Hub's
// protocol, and rbee's own client is tested against something faithful.
//
// node check.mjs HUB_URL REPO EXPECTED_FILE_COUNT GATED_REPO GATED_TOKEN

import { createHash } from "node:crypto";
import {
  downloadFile,
  fileDownloadInfo,
  fileExists,
  HubApiError,
  listFiles,
} from "@huggingface/hub";

const [hubUrl, repo, expectedCountText, gatedRepo, gatedToken] = process.argv.slice(2);
if (!gatedToken) {
  console.error("usage: node check.mjs HUB_URL REPO EXPECTED_FILE_COUNT GATED_REPO GATED_TOKEN");
  process.exit(2);
}

let checks = 0;
function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  ++checks;
}
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

async function listAll(params) {
  const entries = [];
  for await (const entry of listFiles(params)) entries.push(entry);
  return entries;
}

async function main() {
  // The listing, across the pages the server was told to make.
  const entries = await listAll({ repo, hubUrl, recursive: true });
  const files = entries.filter((entry) => entry.type === "file");
  check(files.length === Number(expectedCountText),
        `${files.length} files listed, expected ${expectedCountText}`);
  const ggufs = files.filter((entry) => entry.path.endsWith(".gguf"));
  check(ggufs.length > 0, "the repo lists GGUF files");
  for (const entry of ggufs) {
    check(/^[0-9a-f]{64}$/.test(entry.lfs?.oid ?? ""), `${entry.path} has an LFS sha256`);
    check(entry.lfs.size === entry.size, `${entry.path}: lfs.size equals size`);
    check(/^[0-9a-f]{40}$/.test(entry.oid), `${entry.path} has a git oid`);
  }

  // Probe and download the smallest GGUF; its bytes must hash to the listed sha256.
  const target = ggufs.reduce((a, b) => (b.size < a.size ? b : a));
  const info = await fileDownloadInfo({ repo, path: target.path, hubUrl });
  check(info !== null, "fileDownloadInfo finds the file");
  check(info.size === target.size, `fileDownloadInfo size ${info.size} = ${target.size}`);
  check(info.etag.includes(target.lfs.oid), `the etag ${info.etag} names the sha256`);

  const blob = await downloadFile({ repo, path: target.path, hubUrl });
  check(blob !== null, "downloadFile finds the file");
  check(blob.size === target.size, `the blob has ${blob.size} bytes, expected ${target.size}`);
  const bytes = Buffer.from(await blob.arrayBuffer());
  check(bytes.length === target.size, `downloaded ${bytes.length} bytes`);
  check(sha256(bytes) === target.lfs.oid, `sha256 of ${target.path} matches the listing`);
  // A slice is fetched with a Range request.
  const slice = Buffer.from(await blob.slice(1000, 5000).arrayBuffer());
  check(slice.equals(bytes.subarray(1000, 5000)), "a 4000-byte slice matches");

  // Missing files: downloadFile gives null, fileExists false (a HEAD on raw).
  check((await downloadFile({ repo, path: "missing.gguf", hubUrl })) === null,
        "downloadFile of a missing file gives null");
  check(await fileExists({ repo, path: target.path, hubUrl }), "fileExists finds the file");
  check(!(await fileExists({ repo, path: "missing.gguf", hubUrl })),
        "fileExists does not find a missing file");

  // A gated repo: refused without a token, served with it.
  const gated = (await listAll({ repo: gatedRepo, hubUrl })).find((e) => e.type === "file");
  check(gated !== undefined, "the gated repo lists its file");
  let refusal = null;
  try {
    await downloadFile({ repo: gatedRepo, path: gated.path, hubUrl });
  } catch (error) {
    refusal = error;
  }
  check(refusal instanceof HubApiError && refusal.statusCode === 401,
        `anonymous download of a gated file is refused with 401 (${refusal})`);
  const allowed = await downloadFile({
    repo: gatedRepo, path: gated.path, hubUrl, accessToken: gatedToken,
  });
  const gatedBytes = Buffer.from(await allowed.arrayBuffer());
  check(sha256(gatedBytes) === gated.lfs.oid, "the gated file downloads with the token");

  console.log(`hub-fidelity: ok (${checks} checks; ${files.length} files listed, ` +
              `${target.path} downloaded and verified)`);
}

main().catch((error) => {
  console.error(`hub-fidelity: ${error.stack ?? error}`);
  process.exit(1);
});
