"""Actions with real effects on the clusters, run from inside resources so preview shows them."""
