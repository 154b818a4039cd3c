// Replaced as the RTP sources land.
