"""Checks that a Hugging Face cache is what huggingface_hub expects (run by test_hub_python).

  hf_compat.py read CACHE REPO REV FILE...      offline: resolve each file and the snapshot,
                                                scan the cache; prints JSON
  hf_compat.py download CACHE REPO REV FILE...  online (HF_ENDPOINT): download each file
"""
import hashlib
import json
import os
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    mode, cache, repo, rev, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    if mode == "read":
        os.environ["HF_HUB_OFFLINE"] = "1"
    import huggingface_hub as hh

    out = {"version": hh.__version__, "files": {}}
    for f in files:
        p = hh.hf_hub_download(repo, f, revision=rev, cache_dir=cache)
        out["files"][f] = {"path": p, "sha256": sha256(p)}
    if mode == "read":
        out["snapshot"] = hh.snapshot_download(repo, revision=rev, cache_dir=cache,
                                               local_files_only=True)
        info = hh.scan_cache_dir(cache)
        out["warnings"] = [str(w) for w in info.warnings]
        for r in info.repos:
            if r.repo_id == repo:
                out["repo"] = {
                    "type": r.repo_type,
                    "size": r.size_on_disk,
                    "nb_files": r.nb_files,
                    "refs": sorted(r.refs.keys()),
                    "revisions": sorted(x.commit_hash for x in r.revisions),
                }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
