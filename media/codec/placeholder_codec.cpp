// Replaced as the codec sources land.
