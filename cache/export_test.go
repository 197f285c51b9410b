package cache

// FillForBench is fillForBench for the external test package.
var FillForBench = fillForBench
