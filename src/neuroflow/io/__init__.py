"""Readers of source files shared by the stages: published connectome tables
(:mod:`.connectomes`), the C. elegans cell labels (:mod:`.celegans_labels`) and Haxby data."""
