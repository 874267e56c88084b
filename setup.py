"""Build script: the package metadata and the one compiled extension."""

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

ext = Extension(
    "ecgtool._core",
    ["ecgtool/_core.pyx"],
    include_dirs=[np.get_include()],
    # The kernels' sums in the order they are written, on every processor:
    # fusing a multiply into an add (FMA, where the target has it) rounds
    # once where the pure-Python twins round twice.
    extra_compile_args=["-O3", "-ffp-contract=off"],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

runtime = [
    "numpy>=1.26",
    "scipy>=1.11",
    "wfdb>=4.1",
    "h5py>=3.9",
    "typer>=0.12",
    "rich>=13",
    "jax>=0.4.30",
    "flax>=0.10",
    "optax>=0.2",
    # JAX's own dependency. Release 0.7.0 takes 0.9 s to import where 0.6.0
    # takes 0.08 s (measured with numpy 2.4), and every process that
    # classifies (each batch worker too) pays it.
    "ml_dtypes>=0.5,!=0.7.0",
    "matplotlib>=3.7",
    # Holds numpy's BLAS to one thread for the QRS-boundary network, which
    # runs in every batch worker.
    "threadpoolctl>=3.1",
]

setup(
    name="ecgtool",
    version="0.1.0",
    description="Heartbeats, beat labels, rhythm episodes and verdicts from single-lead ECG",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["ecgtool", "ecgtool.*"]),
    package_data={"ecgtool": ["data/*", "ml/weights/*", "ml/weights/**/*", "signal/qrsnet.npz",
                             "signal/pnet.npz", "signal/leadjudge.npz", "_core.pyx"]},
    ext_modules=cythonize([ext], compiler_directives={"language_level": "3"}),
    install_requires=runtime,
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "dask[distributed]>=2024.1", "edfio>=0.4",
                 "pydicom>=2.3", "sierraecg>=0.4"],
        "dask": ["dask[distributed]>=2024.1"],
        "edf": ["edfio>=0.4"],
        "dicom": ["pydicom>=2.3"],
        "philips": ["sierraecg>=0.4"],
        "bench": [
            "sleepecg>=0.5",
            "neurokit2>=0.2.7",
            "py-ecg-detectors>=1.3",
            "scikit-learn>=1.3",
            "pandas>=2",
            "hypothesis>=6",
            "dask[distributed]>=2024.1",
            "edfio>=0.4",
        ],
    },
    entry_points={"console_scripts": ["ecgtool = ecgtool.cli:console"]},
)
