"""The whole network on one machine: its data folder, a synthetic population, running it all
in one process (``healthcode serve``) and driving an outbreak over it (``healthcode simulate``)."""
