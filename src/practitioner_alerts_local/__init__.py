"""The local runtime: the whole pipeline on one machine, on moto. A development tool, never deployed."""
