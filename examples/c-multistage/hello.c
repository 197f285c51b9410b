#include <stdio.h>

int main(void) {
	printf("hello from a multi-stage wrenn build\n");
	return 0;
}
