"""`envcheck fleet`: run doctor and the DDP smoke check on many nodes through SLURM or ssh.

launch: how the nodes are reached (ssh, srun, a folder of reports) and the per-node results;
merge: many doctor reports into one node x fact matrix; render: that matrix as a table or
Markdown; ddp: the multi-node DDP check (torchrun's c10d rendezvous on every node).
"""
