# Stage 'bicluster': Bayesian bi-clustering of spike counts (issue 7). Rules go inside `if is_activated("bicluster"):`.
