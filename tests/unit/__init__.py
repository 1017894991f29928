"""Unit tests of the domain logic against moto (a package, so module names cannot clash with other suites)."""
