"""Discovery (主动发现): bureau lists in, township tasks out, the district's coverage."""
