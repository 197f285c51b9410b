#include <stdio.h>
int greet(void) { return puts("hello") < 0; }
