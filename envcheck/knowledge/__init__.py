"""Compatibility knowledge (driver/CUDA/torch/torchvision/arch/Python) as data, with answers.

The tables live in the YAML files beside this package, each naming its sources; docs/knowledge.md
says how to update them. Each is validated when first read, and the test suite reads every one,
so a malformed edit fails the tests at once instead of producing a wrong answer in someone's report.

Where things are (every public name is re-exported here: `knowledge.min_driver_for_cuda(...)`):

- versions.py  version strings: version_tuple, minor_of, variant_of, variant_cuda, canonical_name
               (PEP 440 parsing and PEP 503 names through `packaging`).
- loading.py   reading the YAML files: load, sources, FILES; SCHEMAS (one declarative schema per
               file) and validate, which raises KnowledgeError naming the file, place and problem.
- driver.py    cuda_driver.yaml: min_driver_for_cuda, cuda_for_driver, driver_supports.
- wheels.py    torch_wheels.yaml and torch_torchvision.yaml: variants, index URLs, cuDNN,
               best_variant_for_driver, torchvision_for_torch.
- arch.py      arch_lists.yaml and compute_capability.yaml: arch_list, covers, architecture_of.
- python.py    python_support.yaml: python_range, python_supported, newest_torch_for_python,
               newest_release_range.

Every helper returns None for "unknown" (a null cell in the data, i.e. no source confirmed it, or
a release the data does not cover). Callers must say "unknown" then, never fill the gap.
"""

from __future__ import annotations

from envcheck.knowledge.arch import architecture_of, arch_list, covers, variants_covering
from envcheck.knowledge.driver import (
    DriverVerdict,
    cuda_for_driver,
    driver_supports,
    min_driver_for_cuda,
    minor_compat_min_for_major,
)
from envcheck.knowledge.loading import FILES, HERE, SCHEMAS, KnowledgeError, load, load_all, sources, validate
from envcheck.knowledge.python import newest_release_range, newest_torch_for_python, python_range, python_supported
from envcheck.knowledge.versions import canonical_name, major_minor, minor_of, variant_cuda, variant_of, version_tuple
from envcheck.knowledge.wheels import (
    VariantChoice,
    best_variant_for_driver,
    index_url,
    install_command,
    known_torch_releases,
    pypi_default_variant,
    torchvision_for_torch,
    torchvision_patch_pair,
    wheel_cudnn,
    wheel_variants,
)

__all__ = [
    # versions
    "canonical_name", "major_minor", "minor_of", "variant_cuda", "variant_of", "version_tuple",
    # loading
    "FILES", "HERE", "SCHEMAS", "KnowledgeError", "load", "load_all", "sources", "validate",
    # driver
    "DriverVerdict", "cuda_for_driver", "driver_supports", "min_driver_for_cuda", "minor_compat_min_for_major",
    # wheels and torchvision
    "VariantChoice", "best_variant_for_driver", "index_url", "install_command", "known_torch_releases",
    "pypi_default_variant", "torchvision_for_torch", "torchvision_patch_pair", "wheel_cudnn", "wheel_variants",
    # arch
    "arch_list", "architecture_of", "covers", "variants_covering",
    # python
    "newest_release_range", "newest_torch_for_python", "python_range", "python_supported",
]

# Each table is read and validated when first asked for (loading.load, cached), not at import: a
# doctor run reads only the tables its checks need (issue #9: start-up time). The test suite loads
# and validates every table (tests/test_knowledge.py), so a malformed edit still fails at once.
