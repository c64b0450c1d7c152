"""One ComponentResource per concern; each takes a typed args object and parents its children."""
