// alloc_cpp.cc: C++ allocation through operator new and delete (which libstdc++ implements
// with malloc, aligned_alloc and free): containers that grow and shrink, strings, maps, smart
// pointers, arrays and over-aligned types, all released again, plus exactly three leaks from
// three known functions. Prints "leak <address> <size> <function>" with write(2) (iostream
// would keep allocations of its own); exits with status 0.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Widget {
    char name[200];
    int id;
};

struct alignas(64) Aligned {
    char data[100];
};

// Keeps GCC from deleting a new/delete pair whose memory is never used.
void escape(void *p) {
    asm volatile("" : : "r"(p) : "memory");
}

void say_leak(const void *p, size_t size, const char *function) {
    char line[128];
    int n = snprintf(line, sizeof line, "leak %llu %zu %s\n",
                     static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(p)), size,
                     function);
    if (write(1, line, static_cast<size_t>(n)) != n) {
        _exit(3);
    }
}

__attribute__((noinline)) void leak_widget() {
    Widget *w = new Widget();
    escape(w);
    say_leak(w, sizeof(Widget), "leak_widget");
}

__attribute__((noinline)) void leak_array() {
    char *a = new char[12345];
    std::memset(a, 'x', 12345);
    escape(a);
    say_leak(a, 12345, "leak_array");
}

__attribute__((noinline)) void leak_aligned() {
    Aligned *a = new Aligned();
    escape(a);
    say_leak(a, sizeof(Aligned), "leak_aligned");
}

__attribute__((noinline)) long churn() {
    long sum = 0;
    for (int round = 0; round < 50; round++) {
        std::vector<int> v;
        for (int i = 0; i < 20000; i++) {
            v.push_back(i);
        }
        std::map<int, std::string> m;
        for (int i = 0; i < 500; i++) {
            m[i] = std::string(40 + i % 10, 'm');
        }
        std::string s;
        for (int i = 0; i < 200; i++) {
            s += "spprof ";
        }
        auto u = std::make_unique<Widget>();
        auto sp = std::make_shared<std::vector<double>>(1000, 1.5);
        auto *aligned = new Aligned[3];
        escape(aligned);
        delete[] aligned;
        int *raw = new int[777];
        escape(raw);
        delete[] raw;
        sum += static_cast<long>(v.size() + m.size() + s.size() + sp->size()) + u->id;
    }
    return sum;
}

}  // namespace

int main() {
    long sum = churn();
    leak_widget();
    leak_array();
    leak_aligned();
    sum += churn();
    return sum == 2 * 50 * (20000 + 500 + 1400 + 1000) ? 0 : 2;
}
