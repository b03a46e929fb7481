"""System-independent framework pieces of the sandbox."""
