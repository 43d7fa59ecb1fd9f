/* stats.c: confidence intervals for spprof-diff. Shares are binomial proportions of sample counts;
 * Wilson's score interval behaves at small counts and near 0 and 1, where the plain normal
 * interval does not, and Newcombe's method 10 combines two of them into an interval for the
 * difference (Newcombe 1998, Statistics in Medicine 17:873-890). */
#include "analyze/model.h"

#include <math.h>

void spa_wilson(double k, double n, double z, double *lo, double *hi) {
    if (!(n > 0)) {
        *lo = 0;
        *hi = 1;
        return;
    }
    double p = k / n;
    if (p < 0)
        p = 0;
    if (p > 1)
        p = 1;
    double z2 = z * z;
    double denom = 1 + z2 / n;
    double center = (p + z2 / (2 * n)) / denom;
    double half = z / denom * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = center - half < 0 ? 0 : center - half;
    *hi = center + half > 1 ? 1 : center + half;
}

void spa_diff_interval(double k1, double n1, double k2, double n2, double z, double *lo,
                       double *hi) {
    double p1 = n1 > 0 ? k1 / n1 : 0, p2 = n2 > 0 ? k2 / n2 : 0;
    double l1, u1, l2, u2;
    spa_wilson(k1, n1, z, &l1, &u1);
    spa_wilson(k2, n2, z, &l2, &u2);
    double d = p2 - p1;
    /* The change p2 - p1 is low when p2 is low and p1 high, and the other way round. */
    *lo = d - sqrt((p2 - l2) * (p2 - l2) + (u1 - p1) * (u1 - p1));
    *hi = d + sqrt((u2 - p2) * (u2 - p2) + (p1 - l1) * (p1 - l1));
}

void spa_poisson_diff_interval(double k1, double k2, double z, double *lo, double *hi) {
    double half = z * sqrt(k1 + k2);
    *lo = k2 - k1 - half;
    *hi = k2 - k1 + half;
}
