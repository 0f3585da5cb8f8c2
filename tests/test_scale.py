"""Bigger than memory (``pytest -m slow``, about 8 minutes, 8 GB of disk).

Runs ``scripts/scale_memory.py`` with its defaults: a 6.25 GiB Zarr image
(40960 x 40960 float32) through gaussian filter, threshold, label, region table
and save on a LocalCluster of 2 workers capped at 1 GiB each, and the same job
on an image 4x smaller. The script checks every label pixel and every table
row against scipy (through a tile the images repeat) and measures the peak
memory of every process; this test requires that both results were checked,
that the large image is bigger than the workers' memory, that no worker was
restarted and that no process's peak grew by more than 25 % with the 4x
larger image.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "scale_memory.py"


@pytest.mark.slow
def test_memory_does_not_grow_with_image_size(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    small, large = figures["results"]
    assert large["size"] ** 2 == 4 * small["size"] ** 2
    assert large["size"] ** 2 * 4 > figures["workers"] * figures["memory_limit"]
    for result in (small, large):
        assert result["pixels_checked"] == result["size"] ** 2
        assert result["objects"] > 1000
        workers = [role for role in result["peaks"] if role.startswith("worker")]
        assert len(workers) == figures["workers"]
        assert all(result["peaks"][w] < figures["memory_limit"] for w in workers)
    assert figures["worst_ratio"] <= 1.25, done.stdout
