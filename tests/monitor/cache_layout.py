"""Real Hugging Face cache layouts on disk, built the way huggingface_hub writes them:
blobs/<etag>, snapshots/<commit>/<file> symlinked into ../../blobs, refs/<name>."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path


def commit(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


@dataclass
class RepoBuilder:
    cache: Path
    repo_type: str  # "model" / "dataset"
    repo_id: str
    blobs: dict[str, int] = field(default_factory=dict)  # etag -> size

    @property
    def path(self) -> Path:
        return self.cache / f"{self.repo_type}s--{self.repo_id.replace('/', '--')}"

    @property
    def key(self) -> str:
        return f"{self.repo_type}/{self.repo_id}"

    def blob(self, content: bytes) -> str:
        etag = hashlib.sha256(content).hexdigest()
        path = self.path / "blobs" / etag
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self.blobs[etag] = len(content)
        return etag

    def revision(self, name: str, files: dict[str, bytes], refs: tuple[str, ...] = ()) -> str:
        rev = commit(f"{self.repo_id}:{name}")
        snapshot = self.path / "snapshots" / rev
        for rel, content in files.items():
            etag = self.blob(content)
            link = snapshot / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            # Relative links, as huggingface_hub creates them.
            target = os.path.relpath(self.path / "blobs" / etag, link.parent)
            link.symlink_to(target)
        snapshot.mkdir(parents=True, exist_ok=True)
        for ref in refs:
            ref_path = self.path / "refs" / ref
            ref_path.parent.mkdir(parents=True, exist_ok=True)
            ref_path.write_text(rev)
        return rev

    def link_outside(self, rev: str, name: str, target: Path) -> None:
        (self.path / "snapshots" / rev / name).symlink_to(target)

    def incomplete(self, size: int) -> Path:
        path = self.path / "blobs" / f"{'e' * 64}.incomplete"
        path.write_bytes(b"p" * size)
        return path


@dataclass
class Layout:
    hf_home: Path
    hub: Path
    outside_file: Path
    alpha: RepoBuilder
    beta: RepoBuilder
    data: RepoBuilder
    revs: dict[str, str]


def build_layout(hf_home: Path, outside_dir: Path) -> Layout:
    """Several repos and revisions, a detached revision, a nested folder, an incomplete
    download, a broken symlink, a link out of the cache, a stray file and a datasets cache."""
    hub = hf_home / "hub"
    hub.mkdir(parents=True)
    outside_dir.mkdir(parents=True, exist_ok=True)
    outside_file = outside_dir / "precious.bin"
    outside_file.write_bytes(b"o" * 5000)

    alpha = RepoBuilder(hub, "model", "org/alpha")
    shared_config = b'{"model_type": "llama"}' * 5
    revs = {
        "alpha_main": alpha.revision(
            "v2", {"config.json": shared_config, "model.safetensors": b"w" * 20_000}, ("main",)
        ),
        "alpha_old": alpha.revision(
            "v1", {"config.json": shared_config, "model.safetensors": b"v" * 12_000}
        ),
    }
    alpha.incomplete(777)

    beta = RepoBuilder(hub, "model", "org/beta")
    revs["beta_main"] = beta.revision(
        "v2",
        {"config.json": b"{}" * 40, "sub/dir/tokenizer.json": b"t" * 3_000},
        ("main", "refs/pr/3"),
    )
    revs["beta_old"] = beta.revision("v1", {"model.bin": b"b" * 9_000})
    beta.link_outside(revs["beta_old"], "precious.bin", outside_file)

    data = RepoBuilder(hub, "dataset", "org/data")
    revs["data_main"] = data.revision("v1", {"train.parquet": b"d" * 4_500}, ("main",))

    broken = RepoBuilder(hub, "model", "org/broken")
    rev = broken.revision("v1", {"config.json": b"{}"}, ("main",))
    (broken.path / "snapshots" / rev / "missing.bin").symlink_to("../../blobs/" + "0" * 64)

    (hub / ".locks").mkdir()
    (hub / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    (hub / "version.txt").write_text("1")  # huggingface_hub writes this marker
    (hub / "notes.txt").write_text("a stray file")

    datasets = hf_home / "datasets"
    (datasets / "downloads" / "extracted").mkdir(parents=True)
    (datasets / "downloads" / "a1b2c3").write_bytes(b"z" * 6_000)
    (datasets / "downloads" / "a1b2c3.json").write_text('{"url": "x"}')
    (datasets / "org___data" / "default" / "0.0.0").mkdir(parents=True)
    arrow = datasets / "org___data" / "default" / "0.0.0" / "train.arrow"
    arrow.write_bytes(b"a" * 8_000)
    os.link(arrow, datasets / "org___data" / "default" / "0.0.0" / "train-hardlink.arrow")
    return Layout(hf_home, hub, outside_file, alpha, beta, data, revs)
