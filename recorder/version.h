/* version.h: the recorder's version, as the launcher prints it and the trace header records it.
 * Constants only. */
#ifndef SPPROF_RECORDER_VERSION_H
#define SPPROF_RECORDER_VERSION_H

#define SP_VERSION          "0.1.0"
#define SP_RECORDER_VERSION "spprof " SP_VERSION /* spt_header.recorder_version */

#endif /* SPPROF_RECORDER_VERSION_H */
