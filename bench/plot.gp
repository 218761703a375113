# Throughput vs concurrency for scripts/bench (gnuplot, Debian gnuplot-nox).
#   gnuplot -e "datafile='throughput.dat'; seriesfile='series.txt'; outfile='throughput.png'" plot.gp
# datafile: "conns req/s req/s ..." a line per concurrency (NaN = not run);
# seriesfile: "COLUMN TITLE" a line per series.
if (!exists("datafile")) datafile = 'throughput.dat'
if (!exists("seriesfile")) seriesfile = 'series.txt'
if (!exists("outfile")) outfile = 'throughput.png'

set terminal png size 900,600 font ",10"
set output outfile
set title "Signet throughput vs concurrency (lighttpd, loopback; ceilings: thick lines, open points)"
set xlabel "concurrent connections"
set ylabel "requests/s (commits/s for raw BDB)"
set logscale x 2
set xtics (1, 8, 32, 128)
set xrange [0.8:160]
set yrange [0:*]
set offsets 0, 0, graph 0.35, 0   # room for the key above the curves
set grid
set key inside left top box opaque
set datafile missing "NaN"

n = int(system("wc -l < '" . seriesfile . "'"))
col(i) = int(word(system("sed -n " . i . "p '" . seriesfile . "'"), 1))
title(i) = system("sed -n " . i . "p '" . seriesfile . "' | cut -d' ' -f2-")
# Ceilings (the null responder and raw BDB commits) thick with open points
# (the png terminal draws no dashes), routes thinner with filled points.
isceil(i) = strstrt(title(i), "ceiling") > 0
plot for [i=1:n] datafile using 1:col(i) with linespoints \
     lw (isceil(i) ? 4 : 2) pt (isceil(i) ? 6 : 7) ps 1.3 title title(i)
