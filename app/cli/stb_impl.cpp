// The one translation unit holding the implementations of the single-header stb libraries the CLI uses
// (Debian's libstb-dev): PNG writing and TrueType rasterization for heatmap labels.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stb/stb_truetype.h>
