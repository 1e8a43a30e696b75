"""Built-in skills. Each module is a plugin, loaded by os1.mind.plugins like any other."""
