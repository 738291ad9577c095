"""Package mapping: one import package, maskvat_foley, built from the top-level folders.

The folders core/, ui/, plugin/ and resources/ stay at the top of the repository, where the parts
of the product are easy to find; they are installed as maskvat_foley.core, .ui, .plugin and
.resources so that nothing generic lands at the top of site-packages. From a plain checkout,
maskvat_foley/__init__.py finds the same folders. Metadata lives in pyproject.toml.
"""
from setuptools import find_namespace_packages, setup

FOLDERS = {"core": "maskvat_foley.core", "ui": "maskvat_foley.ui",
           "plugin": "maskvat_foley.plugin", "resources": "maskvat_foley.resources"}

package_dir = {"maskvat_foley": "maskvat_foley"}
packages = ["maskvat_foley"]
for folder, name in FOLDERS.items():
    package_dir[name] = folder
    packages.append(name)
    # Namespace discovery: data folders (the bundled model, host scripts) are packages too, so
    # setuptools ships them without warning that they are "absent from packages".
    packages += [f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])]

setup(packages=packages, package_dir=package_dir)
