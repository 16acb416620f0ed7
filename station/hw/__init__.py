"""Hardware access: each kind of hardware behind one small module returning plain dataclasses."""
