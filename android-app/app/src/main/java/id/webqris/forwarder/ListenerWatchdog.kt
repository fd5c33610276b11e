// A periodic job (every 15 minutes, the platform's minimum) that brings the listener back when the system
// has dropped it (ListenerRebinder), and sends a heartbeat so the server sees the phone is alive and how
// its delivery is doing.
package id.webqris.forwarder

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import android.util.Log

class ListenerWatchdog : JobService() {
    override fun onStartJob(params: JobParameters): Boolean {
        Bridge.executor.execute {
            try {
                ListenerRebinder.ensureBound(this)
                Bridge.get(applicationContext)?.let { forwarder ->
                    forwarder.setListenerConnected(ListenerState.connected)
                    forwarder.setNotificationAccess(NotificationAccess.granted(this))
                    forwarder.sendHeartbeat()
                }
            } catch (e: Exception) {
                Log.w(ForwarderApp.TAG, "watchdog: heartbeat failed", e)
            } finally {
                jobFinished(params, false)
            }
        }
        return true
    }

    override fun onStopJob(params: JobParameters): Boolean = true

    companion object {
        private const val JOB_ID = 4201

        fun schedule(context: Context) {
            val scheduler = context.getSystemService(JobScheduler::class.java) ?: return
            if (scheduler.getPendingJob(JOB_ID) != null) return
            val job = JobInfo.Builder(JOB_ID, ComponentName(context, ListenerWatchdog::class.java))
                .setPeriodic(15 * 60 * 1000L)
                .setPersisted(true)
                .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
                .build()
            scheduler.schedule(job)
        }
    }
}
